Feature: Win-back offers proved against members who got none
  A win-back offer costs points, and some lapsed members would have come back anyway. To know
  what the offer really brings, one lapsed member in ten is set aside and gets no offer: the
  control group. Who is set aside is decided once per member and never changes. When the
  sixty days a member has to come back are over, marketing compares how many of each group came
  back and what they spent, with how sure the difference is, and what the offers used cost.

  Background:
    Given the standard programme rules are in force
    And 200 members last bought something 130 days ago

  Scenario: The win-back report shows the uplift against members who got no offer
    When the daily sweep finds them lapsed
    Then about one member in ten is set aside and receives no win-back offer
    And every other member receives the win-back offer "WINBACK-500"
    When 60 members who received the offer come back 10 days later with it for a mug at 100.00
    And 2 members who were set aside come back 10 days later for a mug at 100.00
    And marketing reads the win-back report 61 days after the offer
    Then the report counts every member in their group, and who came back
    And members who received the offer came back more often than those set aside, with a 95% interval around the difference
    And the offer group spent more per member than the members set aside, with a 95% interval around the difference
    And the offers used cost 30000 points, worth 300.00

  Scenario: Members whose sixty days are not over yet are not counted
    When the daily sweep finds them lapsed
    And marketing reads the win-back report 30 days after the offer
    Then no member is counted yet, and every one of them is waiting for their sixty days to end
