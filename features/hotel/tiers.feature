Feature: A guest's tier follows the nights they stay, or how often they stay
  A guest who stayed 10 nights in the last 12 months, or 5 times, is Silver; 30
  nights or 15 stays make a guest Gold; 60 nights or 30 stays, Platinum. A stay is a
  check-out with at least one room night: a dinner without a room is not a stay. A
  guest moves up the moment a check-out qualifies. Tiers are reviewed at the end of
  the year, with two months' grace, one tier at a time; a guest about to drop is told
  30 days before. Platinum guests enjoy late check-out until 4 pm and a room upgrade
  whenever one is free, for as long as they are Platinum. The 5% of Platinum guests
  with the most nights, and anyone who stayed 100 nights, are VIPs: the executive
  lounge, a personal concierge and a guaranteed room.

  Background:
    Given Ann is a guest

  Scenario: A guest who stayed 30 nights this year is Gold
    Given Ann stayed 25 nights in a standard room 30 days ago
    When Ann stays 5 nights in a deluxe room
    Then the receipt says Ann has reached gold
    And Ann is a gold guest

  Scenario: A guest who stayed 15 times this year is Gold, however short the stays
    Given Ann stayed 1 night in a standard room 14 times in the last 50 days
    When Ann stays 1 night in a standard room
    Then the receipt says Ann has reached gold

  Scenario: A dinner without a room is not a stay
    Given Ann stayed 1 night in a standard room 14 times in the last 50 days
    When Ann dines at the hotel without staying:
      | item                                | quantity |
      | Cantonese restaurant dinner for one | 2        |
    Then Ann is still a silver guest

  Scenario: Reaching Platinum brings late check-out and room upgrades
    Given Ann stayed 55 nights in a standard room 30 days ago
    And Ann does not enjoy late check-out
    When Ann stays 5 nights in a deluxe room
    Then the receipt says Ann has reached platinum
    And Ann enjoys late check-out and room upgrade

  Scenario: A Platinum guest keeps the tier until two months after the year ends, is warned, then drops one tier
    Given Ann stayed 60 nights in a standard room 30 days ago
    And Ann enjoys late check-out and room upgrade
    When the daily sweep runs on 30 January 2027
    Then Ann is not sent a "tier-review" message
    When the daily sweep runs on 1 February 2027
    Then Ann is sent a "tier-review" message
    When the daily sweep runs on 1 March 2027
    Then Ann is still a platinum guest
    When the daily sweep runs on 2 March 2027
    Then Ann is a gold guest
    And Ann no longer enjoys late check-out or room upgrade

  Scenario: The Platinum guests with the most nights are VIPs with the executive lounge
    Given 18 other guests each stayed 60 nights in a standard room 30 days ago
    And Ann stayed 80 nights in a standard room 30 days ago
    And Bob is a guest
    And Bob stayed 70 nights in a standard room 30 days ago
    When the daily sweep runs
    Then Ann is a VIP
    And Ann enjoys the executive lounge and a personal concierge
    And Bob is not a VIP
    When Bob stays 15 nights in a standard room
    And the daily sweep runs 1 day later
    Then Bob is a VIP
    And Bob enjoys the executive lounge
    And Ann is not a VIP
    And Ann no longer enjoys the executive lounge

  Scenario: A guest who stayed 100 nights in 12 months is a VIP, however many stayed more
    Given 3 other guests each stayed 150 nights in a standard room 30 days ago
    And Ann stayed 100 nights in a standard room 30 days ago
    And Bob is a guest
    And Bob stayed 99 nights in a standard room 30 days ago
    When the daily sweep runs
    Then Ann is a VIP
    And Ann enjoys a guaranteed room
    And Bob is not a VIP
