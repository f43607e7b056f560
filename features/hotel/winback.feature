Feature: Guests we have not seen for a long time are invited back
  A guest who has not stayed or spent with us for six months is offered double points
  on their next stay; after a year, 3,000 bonus points on a stay within 90 days, and a
  guest who stayed 50 nights or more over the years also gets a free night. Each offer
  is made once a year. A guest we had lost is welcomed back at check-out.

  Background:
    Given Ann is a guest
    And Ann stayed 2 nights in a standard room 1 day ago

  Scenario: A guest not seen for six months is offered double points on the next stay
    When the daily sweep runs 180 days later
    Then Ann is offered "COMEBACK-DOUBLE"
    When Ann stays 1 night in a standard room showing the offer "COMEBACK-DOUBLE"
    Then Ann earns 1,560 points
    And Ann is not offered "COMEBACK-DOUBLE"

  Scenario: The offer is made once, however long the silence lasts
    When the daily sweep runs 180 days later
    And the daily sweep runs 30 days later
    Then Ann is offered "COMEBACK-DOUBLE" just once

  Scenario: A guest not seen for a year is offered 3,000 bonus points, and welcomed back
    When the daily sweep runs 365 days later
    Then Ann is offered "WINBACK-STAY"
    And Ann is sent a "winback" message
    When Ann stays 1 night in a standard room showing the offer "WINBACK-STAY"
    Then Ann earns 3,780 points
    And the receipt says "Welcome back - a thank-you when a guest we had lost stays again"

  Scenario: A guest who stayed 50 nights with us over the years also gets a free night
    Given Ann stayed 50 nights in a standard room 1 day ago
    When the daily sweep runs 365 days later
    Then Ann is offered "WINBACK-STAY"
    And Ann holds "FREE-NIGHT"

  Scenario: An occasional guest gets the offer but no free night
    When the daily sweep runs 365 days later
    Then Ann is offered "WINBACK-STAY"
    And Ann does not hold "FREE-NIGHT"
