Feature: Birthday and anniversary gifts that grow with the member's tier
  On their birthday every member gets a gift, once a year. Members and silver
  members get a cake voucher; gold and platinum members get dinner for two and
  500 points. On the anniversary of joining, members get thank-you points, once
  a year: 200 for members and silver members, 500 for gold, 1,000 for platinum.

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

  Scenario: A gold member's anniversary of joining brings 500 points, once a year
    Given Bob is a gold member who joined on 5 December 2023
    When the daily sweep runs on 5 December
    Then Bob's anniversary brought 500 points
    When the daily sweep runs on 5 December again
    Then Bob's anniversary brought 500 points
