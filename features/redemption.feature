Feature: Members spend points on rewards
  Members trade points for rewards from the catalogue. A redemption either
  happens completely or not at all: points are never taken without the reward,
  and a reward is never given without the points.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend
    And Ann has 5000 points to spend

  Scenario: Redeeming points for a catalogue reward
    When Ann redeems one "FREE-CHECKUP"
    Then Ann gets a voucher code
    And Ann's points to spend go down by the reward's cost

  Scenario: Too few points changes nothing
    When Ann tries to redeem 1000 "FREE-CHECKUP"
    Then the till is told Ann has too few points
    And Ann has 5000 points to spend
