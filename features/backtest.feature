Feature: Backtest a draft on recorded history before it goes live
  Before activating a change, marketing replays the purchases, returns and events of a past
  period against the draft and against the rules that were in force, from the same starting
  point, and sees what the draft would have given and what it would have cost. Nothing is
  written: the members, their points and the rules in force stay as they are.

  Background:
    Given the programme prices a point at 0.01 CNY
    And Ann bought a television for 3999.00 CNY on Saturday 2026-11-21
    And Bob bought a kettle for 199.00 CNY on Sunday 2026-11-22
    And Ann bought a phone for 2499.00 CNY on Wednesday 2026-11-25

  Scenario: Marketing tries double points on electronics on last weekend's purchases and sees the extra cost before activating
    When marketing backtests a draft that doubles points on electronics over 2026-11-21 to 2026-11-22
    Then the draft would have given 3999 more points
    And it would have cost 39.99 CNY more
    And 1 of the 2 purchases would have been decided differently
    And the example shown is Ann's television, with the draft's extra points explained
    And nothing was written: the same rules are in force and every balance is unchanged

  Scenario: Replaying the rules in force gives exactly what was recorded
    When marketing backtests the rules in force over 2026-11-21 to 2026-11-30
    Then no decision differs and the cost difference is 0.00 CNY
    And replaying the rules in force reproduces all 3 recorded purchases

  Scenario: A weekend campaign dated next month is priced on last weekend by ignoring its dates
    When marketing backtests a draft with double points on 2026-12-05 and 2026-12-06 over 2026-11-21 to 2026-11-22
    Then the draft would have given 0 more points
    When marketing backtests the same draft over the same weekend, ignoring the rules' dates
    Then the draft would have given 4198 more points

  Scenario: A draft with a mistake is not backtested
    When marketing backtests a draft whose earning rule has no "then"
    Then the backtest is refused, naming the file and line of the mistake
