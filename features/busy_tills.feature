Feature: Busy tills
  On a busy day several tills serve the same member at the same moment: a
  couple paying at two tills, a till and the web shop, a till resending what it
  sent a moment ago. Points can be spent only once, however many tills ask at
  the same moment: one redemption gets them, every other till is told there are
  too few points, and nothing is half done.

  Scenario: Twenty tills redeem the same points at once: exactly one succeeds
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend
    And Ann has 1500 points to spend
    When twenty tills redeem a pair of cinema tickets for Ann at the same moment
    Then exactly one till hands Ann the cinema tickets
    And the other nineteen tills are told Ann has too few points
    And Ann has 0 points to spend
    And one pair of cinema tickets fewer is left in stock
    And every balance equals the sum of its ledger entries
