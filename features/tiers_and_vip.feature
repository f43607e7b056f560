Feature: Tiers follow spending, and the top of the pyramid are VIPs
  Members move up a tier the moment a purchase makes them qualify. They move
  down only when their tier is reviewed, on the anniversary of reaching it, and
  only after a grace period of 30 days, one tier at a time. Members whose
  spending no longer holds their tier are warned 30 days before the downgrade.
  The top 5% of platinum members by spending over the last 12 months (at least
  one of them), and anyone who spent 80,000 or more, are VIPs with privileges
  for as long as they stay VIP. A VIP keeps the status until their spending
  falls more than 10% below the spending that makes a VIP, so someone sitting
  at the threshold is not dropped one week and welcomed again the next.

  Background:
    Given the standard programme rules are in force

  Scenario: A member is upgraded at the till the moment they qualify
    Given Ann is a member with her 100 welcome points to spend
    And Ann bought a refrigerator for 3999.00 and two filters at 49.50 each
    When Ann buys a refrigerator for 3999.00
    Then the receipt says Ann has reached silver
    And Ann is a silver member
    And Ann's tier history records the move from member to silver with the reason "qualified for silver"

  Scenario: A gold member who stops buying keeps gold through the grace period and drops one step after it
    Given Bob became a gold member on 20 November 2025 by spending 20000.00
    When the daily sweep runs on 20 December
    Then Bob is still a gold member
    When the daily sweep runs on 21 December
    Then Bob is a silver member
    And Bob's tier history records the move from gold to silver with the reason "below gold's 20000"

  Scenario: A member is warned before a downgrade
    Given the programme warns members about to drop a tier and offers them "KEEP-TIER"
    And Bob became a gold member on 20 November 2025 by spending 20000.00
    When the daily sweep runs on 19 November
    Then Bob has not been warned
    When the daily sweep runs on 21 November
    Then Bob has been warned once
    And Bob holds the offer "KEEP-TIER"
    When the daily sweep runs on 23 November
    Then Bob has been warned once
    And Bob is still a gold member

  Scenario: The top 5% become VIP and lose it once they fall more than 10% below the top
    Given 18 other platinum members spent 50000.00 each this year
    And Ann is a platinum member who spent 60000.00 this year
    And Bob is a platinum member who spent 55000.00 this year
    When the daily sweep runs on 21 November
    Then Ann is a VIP with lounge access
    And Bob is not a VIP
    When Bob buys a gift card for 20000.00
    And the daily sweep runs on 22 November
    Then Bob is a VIP with lounge access
    And Ann is no longer a VIP and has lost lounge access

  Scenario: A VIP at the threshold is not dropped for one weak week
    Given 18 other platinum members spent 50000.00 each this year
    And Ann is a platinum member who spent 60000.00 this year
    And Bob is a platinum member who spent 55000.00 this year
    When the daily sweep runs on 21 November
    Then Ann is a VIP with lounge access
    When Bob buys a gift card for 8000.00
    And the daily sweep runs on 22 November
    Then Bob is a VIP with lounge access
    And Ann is a VIP with lounge access
    When the daily sweep runs on 29 November
    Then Ann is a VIP with lounge access
    And Ann has been welcomed as a VIP just once

  Scenario: A member marked as a VIP keeps VIP service for as long as the mark stays
    Given Carol is a member marked as a VIP
    When the daily sweep runs on 21 November
    Then Carol is a VIP with lounge access
    When the daily sweep runs 400 days later
    Then Carol is a VIP with lounge access
