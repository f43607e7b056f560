Feature: Gifts that come with an appliance
  A refrigerator brings an ice maker and a DVD player brings five films. Gold owners get
  one more year of warranty on every large appliance they buy, platinum owners two. A gift
  goes back when the appliance that brought it is returned.

  Scenario: A customer who buys a refrigerator gets an ice maker
    Given Ann is a customer
    When Ann buys a refrigerator
    Then Ann receives "ICE-MAKER"

  Scenario: A customer who buys a DVD player gets five films
    Given Ann is a customer
    When Ann buys a DVD player
    Then Ann receives "FILM-BUNDLE"

  Scenario: Returning the refrigerator gives the ice maker back
    Given Ann is a customer
    When Ann buys a refrigerator
    And Ann returns the refrigerator
    Then Ann no longer holds "ICE-MAKER"
    And "ICE-MAKER" goes back into stock

  Scenario: Returning a filter bought with the refrigerator keeps the ice maker
    Given Ann is a customer
    When Ann buys:
      | item                      | quantity |
      | refrigerator              | 1        |
      | refrigerator water filter | 2        |
    And Ann returns one refrigerator water filter
    Then Ann holds "ICE-MAKER"

  Scenario: No more than two ice makers a year
    Given Ann is a customer
    And Ann bought a refrigerator 40 days ago
    And Ann bought a refrigerator 20 days ago
    When Ann buys a refrigerator
    Then Ann holds two "ICE-MAKER"
    And the receipt does not say "Buy a refrigerator, get an ice maker"

  Scenario: A gold owner gets one more year of warranty on a washing machine
    Given Ann is a gold customer
    When Ann buys a washing machine
    Then Ann receives "WARRANTY-PLUS-1Y"

  Scenario: A platinum owner gets two more years of warranty on a steam oven
    Given Ann is a platinum customer
    When Ann buys a steam oven
    Then Ann receives "WARRANTY-PLUS-2Y"
    And Ann does not hold "WARRANTY-PLUS-1Y"

  Scenario: A kettle is not a large appliance and brings no extra warranty
    Given Ann is a gold customer
    When Ann buys a kettle
    Then Ann receives no "WARRANTY-PLUS-1Y"
