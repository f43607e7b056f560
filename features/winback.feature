Feature: Members who drift away are offered a reason to come back
  A member who has not bought anything for two months is drifting away. They
  receive a time-limited offer, once, to win them back, however many days the
  silence lasts until they come back. When they come back
  and use it, marketing can count them as won back and see what they spent.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend
    And Ann bought a refrigerator for 3999.00 and two filters at 49.50 each

  Scenario: A member silent for 90 days receives a win-back offer once, uses it and is counted
    When the daily sweep runs every day for 90 days
    Then Ann has received one win-back offer, "WINBACK-DOUBLE"
    When Ann buys a mug for 100.00 showing the offer "WINBACK-DOUBLE"
    Then Ann earns 200 points
    And Ann no longer holds the offer "WINBACK-DOUBLE"
    And the win-back report counts 1 member won back with "WINBACK-DOUBLE" who spent 100.00

  Scenario: A lapsed member who buys again is welcomed back at the till
    When the daily sweep runs 130 days later
    And Ann comes back 131 days later and buys a mug for 100.00
    Then the receipt welcomes Ann back
