Feature: Members earn points when they buy
  Every purchase a member makes at a till, in the web shop or at a service desk
  earns points by the programme's rules. Points wait out the return window before
  they can be spent, and the receipt tells the member what they earned and why.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend

  Scenario: A purchase earns one point per yuan, held until the return window closes
    When Ann buys a refrigerator for 3999.00 and two filters at 49.50 each
    Then Ann earns 4098 points
    And the receipt explains the points with "1 point for every 1 CNY spent"
    And Ann has 4098 points waiting and 100 points to spend
    And after the return window Ann has 4198 points to spend

  Scenario: Buying a refrigerator brings an ice maker
    When Ann buys a refrigerator for 3999.00
    Then Ann receives the reward "ICE-MAKER"

  Scenario: Every point in the ledger says which rule gave it
    When Ann buys a refrigerator for 3999.00
    Then every entry in Ann's ledger names its rule, its rules version and a reason

  Scenario: When the gifts have run out, a refrigerator still earns its points
    Given every ice maker has been given away
    When Ann buys a refrigerator for 3999.00
    Then Ann earns 3999 points
    And the receipt says the ice maker has run out
