Feature: Points from the partner phone operator
  Members who linked their phone number earn points when they top up at Skyline Mobile:
  50 points for 50 to 199 CNY, 300 points from 200 CNY, and 200 more for the first top-up
  ever; at most five top-ups a month earn points.

  Scenario: A patient's first top-up earns 200 points more
    Given Ann is a patient
    When Ann tops up her phone with 100 at Skyline Mobile
    Then Ann earns 250 points
    And the receipt says "200 points for your first top-up with our partner"

  Scenario: A later top-up of 100 earns 50 points
    Given Ann is a patient
    And Ann topped up her phone with 100 at Skyline Mobile 10 days ago
    When Ann tops up her phone with 100 at Skyline Mobile
    Then Ann earns 50 points

  Scenario: A top-up of 300 earns 300 points
    Given Ann is a patient
    And Ann topped up her phone with 100 at Skyline Mobile 10 days ago
    When Ann tops up her phone with 300 at Skyline Mobile
    Then Ann earns 300 points

  Scenario: A small top-up earns nothing
    Given Ann is a patient
    And Ann topped up her phone with 100 at Skyline Mobile 10 days ago
    When Ann tops up her phone with 30 at Skyline Mobile
    Then Ann earns no points

  Scenario: At most five top-ups a month earn points
    Given Ann is a patient
    And Ann topped up her phone with 100 at Skyline Mobile 5 days ago
    And Ann topped up her phone with 100 at Skyline Mobile 4 days ago
    And Ann topped up her phone with 100 at Skyline Mobile 3 days ago
    And Ann topped up her phone with 100 at Skyline Mobile 2 days ago
    And Ann topped up her phone with 100 at Skyline Mobile 1 day ago
    When Ann tops up her phone with 100 at Skyline Mobile
    Then Ann earns no points

  Scenario: A top-up whose amount is not an amount of money is refused
    Given Ann is a patient
    When Ann's top-up at Skyline Mobile arrives with the amount "a hundred"
    Then the top-up is refused and Ann's points are unchanged
