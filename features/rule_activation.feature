Feature: New rules take effect only when they are valid
  Marketing's changes go live as a new numbered version of the rules. A change
  with any mistake is refused as a whole, with the file and line of each
  problem, and the rules already in force keep working as before.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend

  Scenario: A rule with a typo is refused and the old rules stay
    When an administrator activates a copy of the rules where "member.tier" is misspelt "member.teir"
    Then the activation is refused, naming "earning.yaml" and the line of the mistake
    And the rules in force are still version 1
    When Ann buys a refrigerator for 3999.00
    Then Ann earns 3999 points

  Scenario: A valid change applies at once and receipts name the new version
    When an administrator activates the rules with a 50-point thank-you on every purchase
    Then the rules in force are version 2
    When Ann buys a refrigerator for 3999.00
    Then Ann earns 4049 points
    And the receipt names rules version 2
