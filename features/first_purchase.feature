Feature: A member who has never bought is not a lost customer
  A member who joined but has never bought has nothing to lose yet. Marketing
  sees them as dormant rather than declining, lapsed or churned, so no win-back
  offer goes to them; and their first purchase is a first purchase, not a
  member coming back, so the till does not welcome them back.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend

  Scenario: A member who has never bought stays dormant however long the silence lasts
    When the daily sweep runs 130 days later
    Then Ann counts as dormant
    And Ann has received no win-back offer
    When the daily sweep runs 400 days later
    Then Ann counts as dormant
    And Ann has received no win-back offer

  Scenario: A first purchase after a long silence is not welcomed back
    When the daily sweep runs 130 days later
    And Ann comes back 131 days later and buys a mug for 100.00
    Then the receipt does not welcome Ann back
    And Ann earns 100 points
    When the daily sweep runs 132 days later
    Then Ann counts as growing
