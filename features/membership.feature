Feature: One member, one identity
  A person is one member whatever channel they come through. The same e-mail
  address or phone number, however it is written, belongs to the member who
  joined with it first, so nobody is enrolled twice.

  Background:
    Given the standard programme rules are in force

  Scenario: The same phone number written another way is the same person
    Given Ann joined with the phone number "+86 138 0000 0001"
    When someone tries to join with the phone number "0086 138 0000 0001"
    Then they are told Ann is already a member

  Scenario: A local phone number without the country code is the same person
    Given Ann joined with the phone number "+86 138 0000 0001"
    When someone tries to join with the phone number "138-0000-0001"
    Then they are told Ann is already a member

  Scenario: The same e-mail address in capitals is the same person
    Given Ann joined with the e-mail address "ann@example.com"
    When someone tries to join with the e-mail address " ANN@Example.com "
    Then they are told Ann is already a member

  Scenario: A phone number that cannot exist is refused
    When someone tries to join with the phone number "+86 12"
    Then they are told the phone number is not valid
