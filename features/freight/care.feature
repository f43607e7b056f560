Feature: Putting service failures right, and thanking shippers who stay
  A new shipper gets 20,000 points and the cleaning of 5 wagons. A train more than 24
  hours late through our fault brings 100,000 points (1,000 yuan of freight credit);
  delays caused by weather, customs or the shipper do not. A third late train through
  our fault within 90 days brings a service review with the operations director. An
  upheld cargo claim is settled within 10 working days, and one over 100,000 yuan
  brings a call from the head of claims. A shipper who shipped during the year gets
  50,000 points on the anniversary of joining.

  Scenario: A new shipper gets 20,000 points and 5 wagons cleaned
    Given Acme is a shipper
    Then Acme has 20,000 points to spend
    And Acme holds "WELCOME-CLEANING"

  Scenario: A train more than a day late through our fault brings 100,000 points
    Given Acme is a shipper
    When Acme's train arrives 30 hours late through our fault
    Then Acme earns 100,000 points
    And Acme is sent a "delay-apology" message

  Scenario: Delays caused by the weather, or shorter than a day, bring no points
    Given Acme is a shipper
    When Acme's train arrives 30 hours late because of the weather
    Then Acme earns 0 points
    When Acme's train arrives 20 hours late through our fault
    Then Acme earns 0 points

  Scenario: A third late train within 90 days brings a service review
    Given Acme is a shipper
    And Acme's train arrived 30 hours late through our fault 40 days ago
    And Acme's train arrived 26 hours late through our fault 20 days ago
    And Acme is not sent a "service-review" message
    When Acme's train arrives 28 hours late through our fault
    Then Acme is sent a "service-review" message

  Scenario: An upheld claim over 100,000 yuan brings a call from the head of claims
    Given Acme is a shipper
    And Boreal is a shipper
    When the carrier upholds Acme's claim for 250,000.00
    And the carrier upholds Boreal's claim for 8,000.00
    Then Acme is sent a "claims-call" message
    And Boreal is sent a "claim-settlement" message
    And Boreal is not sent a "claims-call" message

  Scenario: A shipper who shipped during the year gets 50,000 points on its anniversary
    Given Cobalt has been a shipper for 360 days
    And Cobalt shipped 1,000 tonnes of grain in covered hopper wagons 30 days ago
    And Delta has been a shipper for 360 days
    When the daily sweep runs on 11 March
    Then Cobalt's statement shows 50,000 points for "Thank you for another year of shipping with us - 50,000 points"
    And Delta's statement shows nothing for "Thank you for another year of shipping with us - 50,000 points"
