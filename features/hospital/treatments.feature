Feature: Treatments billed by the hospital earn points
  Treatments the hospital bills, often through insurance, earn points when they end: 100
  for an outpatient treatment, 1,000 after a stay in hospital. Keeping up a course of
  treatment earns more, and a patient under heavy care gets a nurse line for a year.

  Scenario: An outpatient treatment earns 100 points
    Given Ann is a patient
    When Ann has an outpatient treatment in orthopaedics
    Then Ann earns 100 points

  Scenario: A stay in hospital earns 1,000 points
    Given Ann is a patient
    When Ann leaves hospital after a stay in surgery
    Then Ann earns 1,000 points
    And the receipt says "Get well soon - 1,000 points after a stay in hospital"

  Scenario: The third treatment within 90 days earns 300 more points
    Given Ann is a patient
    And Ann had an outpatient treatment in orthopaedics 50 days ago
    And Ann had an outpatient treatment in rehabilitation 20 days ago
    When Ann has an outpatient treatment in rehabilitation
    Then Ann earns 400 points
    And the receipt says "Keeping up your treatment - 300 more points for the third treatment within 90 days"

  Scenario: Treatments months apart earn no course bonus
    Given Ann has been a patient for 2 years
    And Ann had an outpatient treatment in cardiology 200 days ago
    And Ann had an outpatient treatment in cardiology 100 days ago
    When Ann has an outpatient treatment in cardiology
    Then Ann earns 100 points

  Scenario: A patient under heavy care gets a dedicated nurse line for a year
    Given Ann is a patient
    And Ann left hospital after a stay in cardiology billed 25,000 30 days ago
    When Ann has an outpatient treatment in cardiology
    Then Ann has the privilege "nurse-line" for 365 days

  Scenario: A patient with lighter care has no nurse line
    Given Ann is a patient
    And Ann left hospital after a stay in surgery billed 8,000 30 days ago
    When Ann has an outpatient treatment in surgery
    Then Ann does not have the privilege "nurse-line"
