Feature: Reminding patients of their yearly check-up, and winning them back
  Patients come once or twice a year. After 300 days without a visit the yearly check-up is
  due: the patient is reminded, with 300 bonus points when she books it. After 15 months
  she is offered 800 bonus points, and welcomed back when she returns.

  Scenario: Three hundred days without a visit bring a check-up reminder
    Given Ann has been a patient for 3 years
    And Ann paid for a basic health check-up 295 days ago
    When 6 days pass without a visit
    Then Ann counts as declining
    And Ann is offered "CHECKUP-DUE"

  Scenario: Booking the check-up with the reminder earns 300 bonus points
    Given Ann has been a patient for 3 years
    And Ann paid for a basic health check-up 295 days ago
    And 6 days have passed
    When Ann pays for a basic health check-up showing the offer "CHECKUP-DUE"
    Then Ann earns 1,499 points

  Scenario: Fifteen months without a visit bring 800 bonus points on the next one
    Given Ann has been a patient for 3 years
    And Ann paid for a general practitioner consultation 445 days ago
    When 6 days pass without a visit
    Then Ann counts as lapsed
    And Ann is offered "COMEBACK-800"

  Scenario: A lapsed patient who comes back is welcomed back
    Given Ann has been a patient for 3 years
    And Ann paid for a general practitioner consultation 445 days ago
    And 6 days have passed
    When Ann pays for a general practitioner consultation showing the offer "COMEBACK-800"
    Then Ann earns 1,150 points
    And the receipt says "offer COMEBACK-800 used: 800 bonus points on your next visit"
    And the receipt says "Welcome back - 200 points when a lapsed or churned patient returns"
    And Ann's statement shows 200 points for "Welcome back - 200 points when a lapsed or churned patient returns"
    And Ann counts as growing
