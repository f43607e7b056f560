Feature: Service visits at home and at the repair shops
  The repair shops and the technicians send every repair, maintenance and installation.
  A repair earns points, more when the owner paid for it. A yearly maintenance at a repair
  shop earns points, more while one of the owner's large appliances is still under warranty.
  An owner who needed us three times in a year gets a free check-up, and one whose repairs
  cost over 1,500 in a year is offered bonus points towards a new appliance.

  Scenario: A repair under warranty earns 100 points
    Given Ann is a customer
    When Ann's washing machine is repaired under warranty
    Then Ann earns 100 points
    And the receipt says "Sorry for the trouble - 100 points for a repair under warranty"

  Scenario: A repair the owner paid for earns 200 points
    Given Ann is a customer
    When Ann pays 380 for a repair of her washing machine
    Then Ann earns 200 points

  Scenario: A maintenance at a repair shop while the washing machine is under warranty earns 250 points
    Given Ann has been a customer for 3 years
    And Ann bought a washing machine 300 days ago
    When Ann brings her washing machine to the repair shop RS-BJ-CHAOYANG for maintenance
    Then Ann earns 250 points
    And the receipt says "100 more points for a maintenance visit while one of your large appliances is under warranty"

  Scenario: A maintenance once the warranty has ended earns 150 points
    Given Ann has been a customer for 4 years
    And Ann bought a washing machine 800 days ago
    When Ann brings her washing machine to the repair shop RS-BJ-CHAOYANG for maintenance
    Then Ann earns 150 points
    And the receipt does not say "100 more points for a maintenance visit while one of your large appliances is under warranty"

  Scenario: A technician's maintenance visit at home earns no repair shop points
    Given Ann is a customer
    When a technician visits Ann to maintain her air conditioner
    Then Ann earns no points

  Scenario: The third service visit in a year brings a free home check-up
    Given Ann is a customer
    And Ann's washing machine was repaired under warranty 40 days ago
    And Ann paid 250 for a repair of her refrigerator 20 days ago
    When Ann's washing machine is repaired under warranty
    Then Ann receives "FREE-CHECKUP"

  Scenario: Repairs costing over 1,500 in a year bring bonus points towards a new appliance
    Given Ann is a customer
    And Ann paid 900 for a repair of her washing machine 50 days ago
    And Ann paid 700 for a repair of her refrigerator 20 days ago
    When Ann pays 300 for a repair of her washing machine
    Then Ann is offered "UPGRADE-1000"
