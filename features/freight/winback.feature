Feature: Shippers whose volumes fall are offered a reason to come back
  A shipper who has not shipped for 45 days, or ships at under half their usual pace,
  is offered double points on their next shipment within 90 days; a large shipper
  (100,000 tonnes in 12 months) also gets a visit from the sales director. After four
  months without a shipment, the offer is 500,000 bonus points (5,000 yuan of freight
  credit) on a shipment within 60 days, and the shipper is welcomed back when they
  ship again. At the till, a shipper who moved 40,000 tonnes over the year but under
  5,000 in the last 90 days is offered 100,000 bonus points on the next shipment.

  Background:
    Given Acme has been a shipper for 2 years
    And Acme shipped 3,000 tonnes of coal by unit train 1 day ago

  Scenario: A shipper silent for 45 days is offered double points on the next shipment
    When the daily sweep runs 45 days later
    Then Acme is offered "VOLUME-BACK"
    When Acme ships 1,000 tonnes of steel coils on flat wagons showing the offer "VOLUME-BACK"
    Then Acme earns 200,000 points
    And Acme is not offered "VOLUME-BACK"

  Scenario: A large shipper whose volumes fall gets a visit from the sales director
    Given Boreal is a shipper
    And Boreal shipped 120,000 tonnes of iron ore by unit train 1 day ago
    When the daily sweep runs 45 days later
    Then Boreal is sent a "sales-visit" message
    And Acme is not sent a "sales-visit" message

  Scenario: A shipper silent for four months is offered 500,000 points, and welcomed back
    When the daily sweep runs 120 days later
    Then Acme is offered "WINBACK-SHIPPER"
    When Acme ships 1,000 tonnes of steel coils on flat wagons showing the offer "WINBACK-SHIPPER"
    Then Acme earns 600,000 points
    And the receipt says "Welcome back - a thank-you when a shipper who had stopped ships again"

  Scenario: A shipper whose quarter falls far below its year is offered bonus points at the till
    Given Acme shipped 40,000 tonnes of coal by unit train 100 days ago
    When Acme ships 1,000 tonnes of steel coils on flat wagons
    Then Acme is offered "VOLUME-BONUS"

  Scenario: A shipper shipping at its usual pace is not offered the bonus
    Given Acme shipped 40,000 tonnes of coal by unit train 30 days ago
    When Acme ships 1,000 tonnes of steel coils on flat wagons
    Then Acme is not offered "VOLUME-BONUS"
