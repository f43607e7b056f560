Feature: What the till sends is checked before anything is recorded
  A till that sends something impossible is told what to correct, and the
  member's points do not move: no purchase in a foreign currency, no payments
  that do not match the goods, no purchase from the future, no return before
  the purchase it returns.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend

  Scenario: A purchase in another currency is refused
    When the till sends Ann's purchase of 100.00 in US dollars
    Then the till is told the currency is wrong
    And Ann has 0 points waiting and 100 points to spend

  Scenario: Payments that do not match the goods are refused
    When the till sends Ann's purchase of 100.00 paid with 90.00
    Then the till is told the payments are wrong
    And Ann has 0 points waiting and 100 points to spend

  Scenario: A purchase dated three days ahead is refused
    When the till sends Ann's purchase of 100.00 dated three days from now
    Then the till is told the date is wrong
    And Ann has 0 points waiting and 100 points to spend

  Scenario: A return dated before its purchase is refused
    When Ann buys a refrigerator for 3999.00
    And the till sends Ann's return of the refrigerator dated the day before the purchase
    Then the till is told the date is wrong
    And Ann has 3999 points waiting and 100 points to spend
