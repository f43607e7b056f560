Feature: Points buy health check-ups
  Patients spend their points on check-up packages, dental cleanings, flu vaccinations and
  parking. What they redeem is a voucher presented at the front desk, good once.

  Scenario: A patient redeems 3,000 points for a basic check-up
    Given Ann is a patient
    And Ann has 3,500 points to spend
    When Ann redeems 3,000 points for "CHECKUP-BASIC-VOUCHER"
    Then Ann holds "CHECKUP-BASIC-VOUCHER"
    And Ann has 500 points to spend

  Scenario: A full check-up costs 8,000 points
    Given Ann is a patient
    And Ann has 8,000 points to spend
    When Ann redeems 8,000 points for "CHECKUP-FULL-VOUCHER"
    Then Ann holds "CHECKUP-FULL-VOUCHER"
    And Ann has 0 points to spend

  Scenario: A patient without enough points cannot redeem a check-up
    Given Ann is a patient
    And Ann has 2,000 points to spend
    When Ann redeems her points for "CHECKUP-BASIC-VOUCHER"
    Then the redemption is refused and Ann keeps her points

  Scenario: The check-up voucher is good once, at the check-up centre
    Given Ann is a patient
    And Ann has 3,000 points to spend
    And Ann redeemed 3,000 points for "CHECKUP-BASIC-VOUCHER"
    When Ann pays for a basic health check-up for 0 at the front desk of CHECKUP-CENTRE presenting her "CHECKUP-BASIC-VOUCHER" voucher
    Then Ann no longer holds "CHECKUP-BASIC-VOUCHER"
    And Ann cannot present her "CHECKUP-BASIC-VOUCHER" voucher again

  Scenario: Points from a check-up can be spent once the refund window is over
    Given Ann has been a patient for 2 years
    And Ann paid for a full health check-up with imaging 10 days ago
    When Ann redeems 1,500 points for "DENTAL-CLEANING-VOUCHER"
    Then Ann holds "DENTAL-CLEANING-VOUCHER"
    And Ann has 999 points to spend
