Feature: A birthday gift that grows with the member's tier
  On their birthday every member gets a gift, once a year. Members and silver
  members get a cake voucher; gold and platinum members get dinner for two and
  500 points.

  Background:
    Given the standard programme rules are in force

  Scenario: A member's birthday brings a cake voucher, once
    Given Ann is a member born on 5 December
    When the daily sweep runs on 5 December
    Then Ann holds the reward "BIRTHDAY-CAKE"
    When the daily sweep runs on 5 December again
    Then Ann has received the reward "BIRTHDAY-CAKE" just once

  Scenario: A gold member's birthday brings dinner for two and points
    Given Bob is a gold member born on 5 December
    When the daily sweep runs on 5 December
    Then Bob holds the reward "BIRTHDAY-DINNER"
    And Bob's birthday brought 500 points
