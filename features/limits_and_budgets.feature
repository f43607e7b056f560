Feature: Limits and budgets keep what a rule gives in hand
  Marketing limits how often a rule rewards one member, and caps what a campaign may give in
  points across all members. The till applies both as it records each purchase: a rule that
  reached its limit is left out, and the rest of the purchase earns as usual.

  Scenario: An ice maker is given at most twice a year to one member
    Given Ann is a member
    When Ann buys a refrigerator on 2027-02-01
    And Ann buys a refrigerator on 2027-05-01
    And Ann buys a refrigerator on 2027-12-31
    Then Ann has been given 2 ice makers
    When Ann buys a refrigerator on 2028-01-01
    Then Ann has been given 3 ice makers

  Scenario: A first-purchase bonus is given once per member, not once per purchase
    Given marketing gives 500 points once per member on a first purchase
    And Ann is a member
    And Bob is a member
    When Ann buys a kettle
    And Ann buys a kettle
    And Bob buys a kettle
    Then Ann earned the first-purchase bonus once
    And Bob earned the first-purchase bonus once

  Scenario Outline: A campaign gives while its budget lasts, across all members
    Given the campaign "spring" may give <budget> points in all, 150 on every purchase
    And Ann is a member
    And Bob is a member
    When Ann buys a kettle
    And Bob buys a kettle
    And Ann buys a kettle
    Then the campaign has given <given> points on <purchases> of the 3 purchases

    Examples:
      | budget | given | purchases |
      | 299    | 150   | 1         |
      | 300    | 300   | 2         |
      | 449    | 300   | 2         |
      | 450    | 450   | 3         |

  Scenario: Points from a campaign's offer count against its budget
    Given the campaign "spring" may give 400 points in all, 150 on every purchase
    And the campaign offers 200 bonus points on the next purchase for answering a survey
    And Ann is a member
    When Ann answers a survey
    And Ann buys a kettle with the survey offer
    Then Ann earns 350 points from the campaign on that purchase
    When Ann buys a kettle
    Then Ann earns no points from the campaign on that purchase
    And the campaign has given 350 points in all
