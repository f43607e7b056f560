Feature: Returns take back the points a purchase earned
  When a member brings something back, the points it earned are taken back in
  proportion to the value returned: points still waiting first, then points
  ready to spend. Several partial returns never take back more than was earned,
  and nobody can return more than they bought.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend
    And Ann bought a refrigerator for 3999.00 and two filters at 49.50 each

  Scenario: A partial return and then the rest
    When Ann returns one filter
    Then 49 points are taken back
    When Ann returns the refrigerator and the other filter
    Then 4049 points are taken back
    And Ann has 0 points waiting and 100 points to spend

  Scenario: Returning more than was bought is refused and changes nothing
    When Ann tries to return three filters
    Then the till is told the return exceeds the purchase
    And Ann has 4098 points waiting and 100 points to spend

  Scenario: Returning something that was never bought is refused
    When Ann tries to return a purchase that never happened
    Then the till is told there is no such purchase

  Scenario: Points already spent become a debt that the next purchase repays
    Given the return window has passed and Ann redeemed 4000 points
    When Ann returns the refrigerator
    Then Ann owes 3801 points
    When Ann buys a refrigerator for 3999.00
    Then Ann owes 0 points
