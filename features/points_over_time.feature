Feature: Points become spendable after the return window, then expire oldest first
  Points from a purchase wait until the return window is over before they can be
  spent. Points do not last for ever: each purchase's points expire two years
  after it, the oldest first, and members can see what expires next and when.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend
    And Ann bought a refrigerator for 3999.00 and two filters at 49.50 each

  Scenario: Waiting points become spendable when the return window closes
    When the daily sweep runs 13 days later
    Then Ann has 4098 points waiting and 100 points to spend
    When the daily sweep runs 15 days later
    Then Ann has 0 points waiting and 4198 points to spend
    And Ann's ledger says the points were released because the return window is over

  Scenario: The oldest points expire first
    Given 30 days later Ann bought a mug for 100.00
    When the daily sweep runs 731 days later
    Then Ann has 100 points to spend
    And Ann is told that 100 points expire next
