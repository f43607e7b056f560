Feature: Shippers earn rebate points for every tonne we carry
  Every tonne of cargo earns 100 points (100 points are 1 yuan of freight credit);
  extra services such as wagon cleaning earn none. Preferred shippers earn a quarter
  more per tonne, key accounts half as much again, strategic shippers double. A full
  train of 3,000 tonnes or more earns 50 more points a tonne, and in 2026 containers
  moved from road to rail earn double. On top, a volume rebate: a shipper who moved
  50,000 tonnes over the last 12 months earns 1 point for every yuan of freight, and
  from 250,000 tonnes 2 points. A credit note for part of a shipment takes back the
  points of the tonnes credited. 100,000 points buy a voucher for 1,000 yuan of freight
  credit, presented with one shipment.

  Background:
    Given Acme is a shipper

  Scenario: Every tonne of cargo earns 100 points, and extra services earn none
    When Acme ships this consignment:
      | item                       | quantity |
      | Steel coils on flat wagons | 1,200    |
      | Wagon cleaning per wagon   | 20       |
    Then Acme earns 120,000 points

  Scenario: Containers moved from road to rail earn double points in 2026
    When Acme ships 500 tonnes of intermodal containers
    Then Acme earns 100,000 points
    And the receipt gives 50,000 points for "Double points per tonne on containers moved from road to rail"

  Scenario: A full train earns 50 more points a tonne
    When Acme ships 3,000 tonnes of coal by unit train
    Then Acme earns 450,000 points
    And the receipt gives 150,000 points for "50 extra points for every tonne of a full train of 3,000 tonnes or more"

  Scenario: A preferred shipper earns a quarter more per tonne
    Given Acme shipped 20,000 tonnes of coal by unit train 30 days ago
    When Acme ships 1,000 tonnes of steel coils on flat wagons
    Then Acme earns 125,000 points

  Scenario: A shipper who moved 50,000 tonnes in 12 months earns a volume rebate of 1 point per yuan
    Given Acme shipped 60,000 tonnes of coal by unit train 30 days ago
    When Acme ships 1,000 tonnes of steel coils on flat wagons
    Then Acme earns 275,000 points
    And the receipt gives 150,000 points for "Volume rebate - 1 point for every 1 CNY of freight for shippers who moved 50,000 tonnes in 12 months"

  Scenario: From 250,000 tonnes the volume rebate is 2 points per yuan
    Given Acme shipped 260,000 tonnes of coal by unit train 30 days ago
    When Acme ships 1,000 tonnes of steel coils on flat wagons
    Then Acme earns 450,000 points
    And the receipt gives 300,000 points for "Volume rebate - 2 points for every 1 CNY of freight for shippers who moved 250,000 tonnes in 12 months"

  Scenario: A credit note for part of a shipment takes back the points of the tonnes credited
    Given Acme shipped 1,200 tonnes of steel coils on flat wagons 2 days ago
    When the carrier credits Acme for 200 tonnes of that shipment
    Then Acme loses 20,000 points

  Scenario: Points buy freight credit, presented with the next shipment
    Given Acme shipped 1,200 tonnes of steel coils on flat wagons 31 days ago
    When Acme redeems 100,000 points for "FREIGHT-CREDIT-1000"
    Then Acme has 40,000 points to spend
    When Acme ships 1,000 tonnes of steel coils on flat wagons presenting their "FREIGHT-CREDIT-1000" voucher
    Then Acme earns 100,000 points
    And Acme cannot present their "FREIGHT-CREDIT-1000" voucher again
