Feature: A member's profile, kept true to the person
  A member's details change after they join: a new phone, a corrected e-mail
  address, a birth date added later. The till and the service desk change them
  with the same care as at enrolment, so one person stays one member; every
  change is remembered with who made it and when. A member says on which
  channels they may be contacted, and may ask to be forgotten: their personal
  data is erased while their points stay whole.

  Background:
    Given the standard programme rules are in force

  Scenario: a member found by phone at the till
    Given Ann joined with the phone number "+86 138 0013 8000"
    When the till looks up the phone number "138 0013 8000"
    Then the till finds Ann with her points
    When the till looks up the phone number "138 0013 8009"
    Then the till is told no member has that phone number

  Scenario: A corrected e-mail address
    Given Ann joined with the e-mail address "ann@exmaple.com"
    When the service desk corrects Ann's e-mail address to " Ann@Example.com "
    Then Ann's e-mail address is "ann@example.com"
    And Ann's history shows her e-mail address changed from "ann@exmaple.com" to "ann@example.com" by the service desk
    And the till finds Ann by the e-mail address "ANN@example.com"

  Scenario: A phone number that belongs to someone else is refused
    Given Ann joined with the phone number "+86 138 0013 8000"
    And Bob joined with the phone number "+86 138 0013 8001"
    When the till changes Ann's phone number to "138-0013-8001"
    Then the till is told the phone number belongs to another member
    And Ann's phone number is still "+8613800138000"
    And Ann's history shows no change

  Scenario: Consent given and withdrawn
    Given Ann joined agreeing to be contacted by sms
    When Ann agrees to be contacted by email
    And Ann withdraws her consent to be contacted by sms
    Then Ann may be contacted by email only
    And Ann's history shows her consent to sms given, then withdrawn

  Scenario: Erasure keeps the points
    Given Ann is a member with her 100 welcome points to spend
    And Ann bought a refrigerator for 3999.00 and two filters at 49.50 each
    When an administrator erases Ann's personal data because "she asked to be forgotten"
    Then nobody is found by Ann's e-mail address any more
    And Ann's account keeps every point and every ledger entry it had
    And the points ledger still balances
    And the audit log shows who erased Ann's personal data and why
    And Ann's history keeps no personal detail

  Scenario: An erased member still earns at the till, anonymously
    Given Ann is a member with her 100 welcome points to spend
    And an administrator erased Ann's personal data because "she asked to be forgotten"
    When Ann buys a refrigerator for 3999.00
    Then Ann's anonymous account earns points for it
    And Ann's profile can no longer be changed
