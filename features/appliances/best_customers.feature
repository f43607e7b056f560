Feature: Tiers, VIP privileges and a repair discount for the best customers
  Tiers follow what an owner spent in the last 12 months; furnishing a home with three large
  appliances in a year makes an owner gold as well. Customers with high potential (four
  purchases or 15,000 CNY in a year, or three large appliances ever) get 20% off repairs for
  a year. VIP owners' repairs come first.

  Scenario: 20,000 CNY in a year makes a customer gold
    Given Ann is a customer
    And Ann bought a 65 inch OLED television 30 days ago
    When Ann buys a 650 l side-by-side refrigerator with water dispenser
    Then Ann is now a gold customer

  Scenario: Three large appliances in a year make a customer gold
    Given Ann is a customer
    And Ann bought a refrigerator 60 days ago
    And Ann bought a washing machine 30 days ago
    When Ann buys a dishwasher
    Then Ann is now a gold customer

  Scenario: A customer who spent 15,000 in a year gets 20% off repairs when she comes for one
    Given Ann is a customer
    And Ann bought a 500 l French-door refrigerator 40 days ago
    And Ann bought a 65 inch OLED television 30 days ago
    When Ann's refrigerator is repaired under warranty
    Then Ann has the privilege "repair-discount-20" for 365 days

  Scenario: A customer who bought four times in a year gets 20% off repairs on her next purchase
    Given Ann is a customer
    And Ann bought a kettle 50 days ago
    And Ann bought a descaler 40 days ago
    And Ann bought a refrigerator water filter 30 days ago
    And Ann bought a remote control 20 days ago
    When Ann buys a descaler
    Then Ann has the privilege "repair-discount-20" for 365 days

  Scenario: A customer with one small purchase has no repair discount
    Given Ann is a customer
    And Ann bought a kettle 30 days ago
    When Ann buys a refrigerator water filter
    Then Ann does not have the privilege "repair-discount-20"

  Scenario: A VIP owner's repairs come first
    Given Ann is a VIP customer
    When the daily sweep runs
    Then Ann is a VIP
    And Ann has the privilege "priority-repair"
    And Ann has the privilege "dedicated-hotline"
    And Ann has the privilege "free-installation"
