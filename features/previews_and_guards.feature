Feature: Previews ahead of time, and a sweep that does not run early by mistake
  A till or marketing can preview what a purchase dated ahead would earn, up to
  90 days ahead, under the rules in force and the campaigns of that day; nothing
  is recorded, and the purchase itself is recorded only when it happens.
  The daily sweep expires points and moves members between stages for good, so
  a sweep dated well ahead of today is refused unless it is meant.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend

  Scenario: Marketing previews this weekend's campaign at the till
    Given marketing has scheduled 500 bonus points for shopping this weekend
    When the till previews Ann's purchase of a mug for 100.00 on Sunday
    Then the preview shows Ann would earn 600 points
    And the preview shows the weekend bonus under the rules in force
    And Ann has 0 points waiting and 100 points to spend

  Scenario: A preview dated before the weekend has no weekend bonus
    Given marketing has scheduled 500 bonus points for shopping this weekend
    When the till previews Ann's purchase of a mug for 100.00 today
    Then the preview shows Ann would earn 100 points

  Scenario: This weekend's purchase cannot be recorded ahead of time
    Given marketing has scheduled 500 bonus points for shopping this weekend
    When the till sends Ann's purchase of a mug for 100.00 dated Sunday
    Then the till is told the date is wrong
    And Ann has 0 points waiting and 100 points to spend

  Scenario: A preview more than 90 days ahead is refused
    When the till previews Ann's purchase of a mug for 100.00 dated 91 days from now
    Then the till is told the date is wrong
    And the till is told a preview reaches at most 90 days ahead

  Scenario: A sweep dated years ahead is refused
    Given Ann bought a refrigerator for 3999.00 and two filters at 49.50 each
    When an administrator runs the sweep for 1 January 2030 by mistake
    Then the administrator is told the sweep is 1137 days ahead and nothing was swept
    And nothing has changed for Ann
    And Ann has 4098 points waiting and 100 points to spend

  Scenario: A sweep dated years ahead runs when it is meant
    Given Ann bought a refrigerator for 3999.00 and two filters at 49.50 each
    When an administrator runs the sweep for 1 January 2030 on purpose
    Then Ann has 0 points waiting and 0 points to spend
    And Ann is a churned member

  Scenario: The sweep for an hour from now runs as usual
    When an administrator runs the sweep for an hour from now
    Then the sweep has run
    And Ann has 0 points waiting and 100 points to spend
