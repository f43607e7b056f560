Feature: Guests earn points for every yuan on the bill and for every night they stay
  At check-out a guest earns 1 point for every yuan on the bill, and 100 bonus points
  for every paid night. Silver guests earn a quarter more, Gold guests half as much
  again and Platinum guests double. Spa treatments always earn double points, on top
  of the tier's bonus. Points can be spent 7 days after check-out; a refunded night
  takes back the points it earned.

  Background:
    Given Ann is a guest

  Scenario: A stay earns a point for every yuan and 100 points for every night
    When Ann checks out after this stay:
      | item             | quantity |
      | Deluxe room      | 2        |
      | Breakfast buffet | 2        |
    Then Ann earns 2,296 points
    And the receipt gives 200 points for "100 bonus points for every paid night"
    And Ann can spend those points 7 days after check-out

  Scenario: Spa treatments earn double points
    When Ann checks out after this stay:
      | item              | quantity |
      | Standard room     | 1        |
      | 60-minute massage | 1        |
    Then Ann earns 1,976 points
    And the receipt gives 598 points for "Double points on spa treatments"

  Scenario: A Gold guest earns half as much again, and double on the spa on top
    Given Ann stayed 30 nights in a standard room 30 days ago
    When Ann checks out after this stay:
      | item              | quantity |
      | Deluxe room       | 1        |
      | 60-minute massage | 1        |
    Then Ann earns 2,965 points
    And the receipt gives 789 points for "Gold guests earn 1.5 times the points of the bill and the nights"
    And the receipt gives 598 points for "Double points on spa treatments"

  Scenario: A Platinum guest earns double the points of the bill and the nights
    Given Ann stayed 60 nights in a standard room 30 days ago
    When Ann stays 1 night in a junior suite
    Then Ann earns 3,960 points

  Scenario: A refunded night takes back the points it earned
    Given Ann stayed 3 nights in a standard room 2 days ago
    When the hotel refunds 1 night of Ann's stay
    Then Ann loses 780 points
