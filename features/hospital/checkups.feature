Feature: Patients earn points for check-ups and care
  Every yuan paid for care earns a point; medicines earn none. A patient's annual check-up
  earns 500 points on top, unless it was paid with points. Every therapy session earns 30
  points. Silver members earn half as much again, and gold members double points on
  check-ups, therapy and dental care.

  Scenario: A patient's annual check-up earns 500 points
    Given Ann is a patient
    When Ann pays for a basic health check-up
    Then Ann earns 1,199 points
    And the receipt says "Your annual check-up earns 500 points"

  Scenario: A second check-up in the same year earns only its price in points
    Given Ann has been a patient for 2 years
    And Ann paid for a basic health check-up 60 days ago
    When Ann pays for a heart and blood vessels check-up
    Then Ann earns 2,599 points

  Scenario: Medicines earn no points
    Given Ann is a patient
    When Ann pays for:
      | item                              | quantity |
      | general practitioner consultation | 1        |
      | prescribed medicines              | 2        |
    Then Ann earns 150 points

  Scenario: Every therapy session earns 30 points
    Given Ann is a patient
    When Ann pays for five physiotherapy sessions
    Then Ann earns 1,650 points
    And the receipt says "30 points for every therapy session"

  Scenario: A silver member earns one and a half points for every yuan
    Given Ann is a silver patient
    When Ann pays for a specialist consultation
    Then Ann earns 450 points

  Scenario: A gold member earns double points on her check-up but not on the consultation
    Given Ann is a gold patient
    When Ann pays for:
      | item                              | quantity |
      | basic health check-up             | 1        |
      | general practitioner consultation | 1        |
    Then Ann earns 2,048 points
    And the receipt says "Gold members earn double points on check-ups, therapy and dental care"

  Scenario: A check-up paid with points earns no check-up bonus
    Given Ann is a patient
    And Ann has 3,000 points to spend
    And Ann redeemed 3,000 points for "CHECKUP-BASIC-VOUCHER"
    When Ann pays for a basic health check-up for 0 presenting her "CHECKUP-BASIC-VOUCHER" voucher
    Then Ann earns no points
    And the receipt does not say "Your annual check-up earns 500 points"
