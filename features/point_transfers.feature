Feature: Families pool their points
  A member can give points they are free to spend to another member, so that a
  family can pool its points for one reward. Points keep the expiry they had;
  points still waiting out a return window cannot be given; the programme sets
  how many points one transfer moves and how many transfers a member may give
  a month. Both ledgers show the transfer and name the other member.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend
    And Ann has 5000 points to spend
    And Bo is a member with her 100 welcome points to spend

  Scenario: a family pools points
    When Ann gives Bo 3000 points "for the family's ice maker"
    Then Ann has 2000 points to spend
    And Bo has 3100 points to spend
    And the points Bo received expire when they would have for Ann
    And Ann's ledger shows 3000 points given to Bo
    And Bo's ledger shows 3000 points received from Ann

  Scenario: a transfer over the limit is refused
    Given Ann gave Bo 100 points twice this month
    When Ann tries to give Bo 100 points once more
    Then Ann is told the programme's limit on transfers is reached
    And Ann has 4800 points to spend
    And Bo has 300 points to spend

  Scenario: points waiting out the return window cannot be given
    Given Ann bought a refrigerator for 3999.00
    When Ann tries to give Bo 6000 points
    Then Ann is told she has too few points to give
    And Ann has 5000 points to spend
    And Bo has 100 points to spend
