Feature: Shipper tiers follow the tonnes we carry, or the freight a shipper pays
  A shipper who moved 20,000 tonnes over the last 12 months, or paid 3 million yuan of
  freight, is Preferred; 100,000 tonnes or 15 million yuan make a Key Account; 500,000
  tonnes or 60 million yuan, Strategic. Extra services do not count as tonnes. A
  shipper moves up the moment a shipment qualifies. Each tier is reviewed a year after
  the shipper reached it, with a quarter's grace, one tier at a time; 60 days before a
  downgrade the account manager calls. Strategic shippers have a dedicated account
  manager for as long as they are Strategic.

  Background:
    Given Acme is a shipper

  Scenario: A shipper who moved 20,000 tonnes in 12 months is Preferred
    Given Acme shipped 19,000 tonnes of coal by unit train 30 days ago
    When Acme ships 1,000 tonnes of coal by unit train
    Then the receipt says Acme has reached preferred

  Scenario: A shipper of high-value cargo is Preferred on 3 million yuan of freight
    When Acme ships 9,400 tonnes of new vehicles on car-carrier wagons
    Then the receipt says Acme has reached preferred

  Scenario: Extra services do not count as tonnes
    Given Acme shipped 19,000 tonnes of coal by unit train 30 days ago
    When Acme ships this consignment:
      | item                           | quantity |
      | Yard storage per wagon per day | 2,000    |
    Then Acme is still a standard shipper

  Scenario: A Strategic shipper gets a dedicated account manager
    When Acme ships 500,000 tonnes of iron ore by unit train
    Then the receipt says Acme has reached strategic
    And Acme has an account manager

  Scenario: A Strategic shipper who stops shipping is called 60 days before the review drops it one tier
    Given Acme shipped 500,000 tonnes of iron ore by unit train 30 days ago
    When the daily sweep runs on 5 March 2027
    Then Acme is not sent a "tier-review" message
    When the daily sweep runs on 7 March 2027
    Then Acme is sent a "tier-review" message
    When the daily sweep runs on 5 May 2027
    Then Acme is still a strategic shipper
    When the daily sweep runs on 6 May 2027
    Then Acme is a key-account shipper
    And Acme no longer has an account manager
