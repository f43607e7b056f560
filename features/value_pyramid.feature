Feature: Where the programme's revenue comes from, and how members move
  Marketing sees who brings the revenue: members and revenue per tier, and per value band, with
  members ranked by what they spent over the last year, purchases less returns. The check
  everyone asks for is whether the top fifth of members brings most of the revenue. Once a
  month the daily sweep also records where every member stands, so marketing sees how members
  move between value segments and between lifecycle stages from one month to the next.

  Background:
    Given the standard programme rules are in force

  Scenario: The top fifth of members brings most of the revenue and marketing can see it
    Given ten members who joined over a year ago
    And Ann bought furniture for 60000.00 and returned chairs worth 8000.00
    And Bob bought a television for 10000.00 more than a year ago
    And Bob bought a refrigerator for 25000.00
    And Cai bought a desk for 6000.00
    And each of the seven other members bought a lamp for 1000.00
    When marketing reads the value pyramid
    Then the members brought 90000.00 over the last year
    And the top fifth of the members, 2 of them, brought 77000.00, 85.56% of it
    And the top 1% brought 52000.00 and the bottom half 5000.00
    And the platinum members, 1 of them, brought 52000.00
    And the members of the lowest tier, 7 of them, brought 7000.00

  Scenario: Marketing sees members move between value segments month by month
    Given Ann, Bob and Cai are members
    And in September Ann was valued in grow, Bob in keep, and Cai not yet
    And in October Ann was valued in keep, Bob in maintain, and Cai in reduce-cost
    When marketing reads the value matrix
    Then from September to October 1 member moved from grow to keep
    And from September to October 1 member moved from keep to maintain
    And from September to October 1 member was valued for the first time, in reduce-cost
    And in October keep, maintain and reduce-cost had 1 member each, and grow none

  Scenario: Marketing sees members flow between lifecycle stages month by month
    Given Bob joined over a year ago and last bought on 10 June
    And Cai joined over a year ago and last bought on 1 March
    When the daily sweep runs on the first day of each month from August to November
    And marketing reads the lifecycle flow
    Then from August to September 1 member moved into declining
    And from September to October 1 member stayed declining and 1 member stayed lapsed
    And from October to November 1 member moved from declining to lapsed
    And in November 2 members were lapsed
