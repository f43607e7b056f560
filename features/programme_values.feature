Feature: Rules may only name what the programme has
  The programme declares its tiers, lifecycle stages, channels and events, and the
  kind of each detail an event carries. A rule that names something the programme does
  not have could never apply: it is refused before it goes live, with the file and line
  of the mistake and the name that was probably meant, and the rules in force keep
  working. Words are the same whatever their case, and what the till sends about an
  event is read as the kind of detail the programme declares.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend

  Scenario: A rule naming a tier that does not exist is refused
    When an administrator activates a copy of the rules where the tier "gold" is written "glod"
    Then the activation is refused, naming "earning.yaml" and the line of the mistake
    And the refusal suggests "gold"
    And the rules in force are still version 1
    When Ann buys a refrigerator for 3999.00
    Then Ann earns 3999 points

  Scenario: A rule naming a lifecycle stage the programme does not have is refused
    When an administrator activates the rules with a thank-you for "active" members
    Then the activation is refused, naming "thanks.yaml" and the line of the mistake
    And the rules in force are still version 1

  Scenario: Words compare without regard to case
    When an administrator activates a copy of the rules where the tier "gold" is written "Gold"
    Then the rules in force are version 2
    Given Ann has reached the gold tier
    When Ann buys a refrigerator for 3999.00
    Then the gold members' bonus applies to the purchase

  Scenario: An attribute sent with the wrong type is refused at the till
    When the till reports a service visit for Ann costing "a lot"
    Then the till is told the cost must be an amount of money
    And no service visit of Ann's is recorded

  Scenario: What the till sends is read as the kind of detail the programme declares
    Given marketing gives 50 points for a repair over 500 CNY and 10 for an upheld service complaint
    When the till reports a service visit for Ann costing "680" with the outcome "Upheld"
    Then Ann earns 60 points for the visit
