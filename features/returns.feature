Feature: Returns take back what a purchase earned
  When a member brings something back, the points it earned are taken back in
  proportion to the value returned: points still waiting first, then points
  ready to spend. Several partial returns never take back more than was earned,
  and nobody can return more than they bought. A gift goes back with the products
  it was given for: unused, its voucher is cancelled and the gift returns to
  stock; already used, the member keeps it and the business is told.

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

  Scenario: Returning the refrigerator takes back the unused ice maker
    When Ann returns the refrigerator
    Then the receipt says the ice maker is taken back
    And Ann no longer holds the ice maker voucher
    And the ice maker is back in stock
    When Ann tries to buy a mug presenting her ice maker
    Then the till is told the voucher was taken back

  Scenario: Returning only the filters keeps the ice maker
    When Ann returns one filter
    Then nothing but points is taken back
    And Ann still holds the ice maker voucher

  Scenario: An ice maker already collected is kept, and reported
    Given Ann collected her ice maker with a purchase
    When Ann returns the refrigerator
    Then the receipt says Ann keeps the ice maker she already used
    And the report of rewards after returns lists Ann's ice maker as kept
