Feature: The service desk adjusts points by hand
  When something goes wrong for a member, the service desk can add points to
  make good, or take back points given by mistake. Every adjustment says why,
  the member's ledger names who made it, and the audit log keeps every
  adjustment and every refusal. Nobody can take away points a member does not
  have to spend.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend
    And Ann has 5000 points to spend
    And Bo works at the service desk

  Scenario: A service desk makes good a late delivery
    When Bo adds 500 points for Ann because "her refrigerator was delivered three days late"
    Then Ann has 5500 points to spend
    And the audit log shows Bo adjusted Ann's points by 500

  Scenario: Nobody takes away points a member does not have
    When Bo tries to take 6000 points from Ann because "points given twice for one order"
    Then Bo is told Ann has too few points
    And Ann has 5000 points to spend
    And the audit log shows Bo was refused taking 6000 points from Ann

  Scenario: The ledger says who adjusted and why
    When Bo takes 300 points from Ann because "points given twice for one order"
    Then Ann has 4700 points to spend
    And Ann's ledger shows Bo took 300 points because "points given twice for one order"

  Scenario: An adjustment must say why
    When Bo tries to add 500 points for Ann without saying why
    Then Bo is asked for a reason
    And Ann has 5000 points to spend
