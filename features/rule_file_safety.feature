Feature: Rule files that would harm the tills are refused
  Marketing edits the rule files, and every new set is checked before it goes live: it is
  read only from its own folder, it must stay within sensible sizes, and it is rehearsed on
  a scratch copy of the service (a member joins, buys, returns, redeems, and the nightly
  sweep runs months ahead). A set that fails any of this is refused with the reason, the
  file and the line, and the rules in force keep working as before.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend

  Scenario: Marketing activates rules that would fail at the till
    Given a change to the rules that passes every check but would make purchases fail
    When marketing activates that change
    Then the activation is refused with the reason "a purchase failed"
    And the rules in force are still version 1
    When Ann buys a refrigerator for 3999.00
    Then Ann earns 3999 points

  Scenario: A rule file far too large is refused
    When marketing activates the rules with a file of 300 KB added
    Then the activation is refused with the reason "file too large"
    And the rules in force are still version 1

  Scenario: A file linked from outside the rule folder is not read
    Given the rule folder holds a link to a file outside it
    When an administrator activates the rule folder
    Then the activation is refused with the reason "a link out of the rule folder"
    And the rules in force are still version 1

  Scenario: A rule file not saved as UTF-8 is refused at its line
    When marketing uploads a draft whose file "cafe.yaml" has a letter in another encoding on line 3
    Then the upload is refused, naming "cafe.yaml" and line 3
    And no draft is kept

  Scenario: New rules are made ready before the tills use them
    When an administrator activates the rules with a 50-point thank-you on every purchase
    And Ann buys a refrigerator for 3999.00
    Then Ann earns 4049 points
    And no purchase waited for the new rules to be made ready
