Feature: The top fifth of shippers get priority capacity and wagons
  Capacity is scarce in busy weeks, so it goes to the top of the pyramid first: the
  fifth of shippers who moved the most tonnes over the last 12 months (at least one
  shipper) get priority train paths and first call on empty wagons, for as long as
  they stay in the top fifth. Shippers the board names strategic partners get the same
  whatever their volume. Shippers who have not shipped do not count.

  Scenario: The top fifth of shippers by tonnes get priority capacity and wagon allocation
    Given these shippers shipped coal by unit train 30 days ago:
      | shipper   | tonnes |
      | Acme      | 90,000 |
      | Boreal    | 40,000 |
      | Cobalt    | 30,000 |
      | Delta     | 20,000 |
      | Evergreen | 10,000 |
    When the daily sweep runs
    Then Acme has priority capacity and wagon allocation
    And Boreal does not have priority capacity

  Scenario: Among ten shippers, the top two get priority
    Given these shippers shipped coal by unit train 30 days ago:
      | shipper | tonnes |
      | Acme    | 90,000 |
      | Boreal  | 80,000 |
      | Cobalt  | 70,000 |
      | Delta   | 60,000 |
      | Ember   | 50,000 |
      | Fjord   | 40,000 |
      | Granite | 30,000 |
      | Harbour | 20,000 |
      | Iris    | 10,000 |
      | Jade    | 5,000  |
    When the daily sweep runs
    Then Acme has priority capacity and wagon allocation
    And Boreal has priority capacity and wagon allocation
    And Cobalt does not have priority capacity

  Scenario: Priority moves to the shipper who overtakes
    Given these shippers shipped coal by unit train 30 days ago:
      | shipper   | tonnes |
      | Acme      | 90,000 |
      | Boreal    | 40,000 |
      | Cobalt    | 30,000 |
      | Delta     | 20,000 |
      | Evergreen | 10,000 |
    And the daily sweep has run
    When Boreal ships 60,000 tonnes of coal by unit train
    And the daily sweep runs 1 day later
    Then Boreal has priority capacity and wagon allocation
    And Acme no longer has priority capacity or wagon allocation

  Scenario: A strategic partner named by the board has priority whatever its volume
    Given these shippers shipped coal by unit train 30 days ago:
      | shipper | tonnes |
      | Acme    | 90,000 |
      | Boreal  | 40,000 |
    And Fjord is a shipper the board names a strategic partner
    And Fjord shipped 1,000 tonnes of grain in covered hopper wagons 30 days ago
    When the daily sweep runs
    Then Fjord has priority capacity and wagon allocation
    And Boreal does not have priority capacity

  Scenario: Shippers who have not shipped do not count towards the fifth
    Given these shippers shipped coal by unit train 30 days ago:
      | shipper | tonnes |
      | Acme    | 90,000 |
      | Boreal  | 40,000 |
    And Cobalt is a shipper
    And Delta is a shipper
    And Evergreen is a shipper
    When the daily sweep runs
    Then Acme has priority capacity and wagon allocation
    And Boreal does not have priority capacity
