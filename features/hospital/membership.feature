Feature: Tiers, VIP care and birthdays
  Tiers follow what a patient paid in the last 12 months; a long course of therapy (20
  sessions in a year) makes a patient gold as well. VIP patients book first. On their
  birthday patients get a free screening chosen by their age, and gold members 500 points.

  Scenario: 3,000 CNY in a year makes a patient silver
    Given Ann is a patient
    When Ann pays for:
      | item                                  | quantity |
      | full health check-up with imaging     | 1        |
      | specialist consultation               | 4        |
    Then Ann is now a silver patient

  Scenario: Twenty therapy sessions in a year make a patient gold
    Given Ann is a patient
    And Ann paid for ten physiotherapy sessions 40 days ago
    When Ann pays for ten physiotherapy sessions
    Then Ann is now a gold patient

  Scenario: A VIP patient books first
    Given Ann is a VIP patient
    When the daily sweep runs
    Then Ann is a VIP
    And Ann has the privilege "priority-booking"
    And Ann has the privilege "free-parking"

  Scenario: A patient's birthday brings a free screening
    Given Ann is a patient born on 20 May 1988
    When the daily sweep runs on 20 May
    Then Ann receives "BIRTHDAY-SCREENING"
    And Ann does not hold "SENIOR-SCREENING"

  Scenario: From 60 years on the birthday screening looks at bones and heart
    Given Ann is a patient born on 20 May 1961
    When the daily sweep runs on 20 May
    Then Ann receives "SENIOR-SCREENING"
    And Ann does not hold "BIRTHDAY-SCREENING"

  Scenario: A gold member's birthday brings 500 points as well
    Given Ann is a gold patient born on 20 May 1980
    When the daily sweep runs on 20 May
    Then Ann receives "BIRTHDAY-SCREENING"
    And Ann's statement shows 500 points for "500 birthday points for gold members"
