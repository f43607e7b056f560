Feature: What the points members hold are worth
  Points are a promise the business owes its members. Finance and marketing see, over every
  member at once, the points members hold and owe, what they are worth at the programme's
  point value, what expires soon, and how many of the points earned were spent on rewards.

  Background:
    Given the standard programme rules are in force
    And Ann and Bob joined 400 days ago, with their welcome points

  Scenario: Finance sees the points outstanding, what expires soon and what was redeemed
    Given Ann bought a refrigerator for 3000.00 a month ago
    And Ann spent 2000 points on a free check-up once her points could be spent
    And Ann returned the refrigerator five days ago
    And Bob bought a mug for 100.00 three days ago
    When marketing reads the points liability
    Then members hold 100 points to spend, worth 1.00
    And members have 100 points waiting, worth 1.00
    And members owe 1900 points, worth 19.00
    And 100 points, worth 1.00, expire within a year and none within 90 days
    And 2000 of the 9100 points earned in the last year were redeemed

  Scenario: The liability as it stood before the return
    Given Ann bought a refrigerator for 3000.00 a month ago
    And the daily sweep ran 20 days ago
    When marketing reads the points liability as it stood 20 days ago
    Then members hold 200 points to spend, worth 2.00
    And members have 9000 points waiting, worth 90.00
    And members owe 0 points, worth 0.00
