Feature: A business starts its programme from a ready-made pack
  The service comes with a programme for each of the businesses it was made for: a retailer,
  an appliance maker with repair shops, a hotel, a hospital and a freight carrier. A new
  installation starts from one of them, and marketing gets a copy of its rule files to make
  the programme their own.

  Scenario: Every business finds its pack
    When the operator lists the packs
    Then the list names the retail, appliances, hotel, hospital and freight packs, each with its title
    And the retail pack is marked as the default

  Scenario: A hotel opens its programme from the hotel pack
    Given a new installation with no programme yet
    When the operator starts it with the hotel pack
    Then the hotel pack is the programme in force
    And a guest who stays two nights earns points

  Scenario: An installation started without naming a pack runs the retail programme
    Given a new installation with no programme yet
    When the operator starts it without naming a pack
    Then the retail pack is the programme in force

  Scenario: A programme in force is never replaced by starting again
    Given a new installation with no programme yet
    And the operator started it with the retail pack
    When the operator starts it with the hotel pack
    Then the operator is told the installation already has a programme
    And the retail pack is the programme in force

  Scenario: Marketing gets a copy of the hotel pack to edit
    When marketing writes the hotel pack into a folder of their own
    Then the folder holds the hotel's rule files and the guide to the rule language
    And the rule check finds no problems in the folder

  Scenario: A copy never overwrites rule files marketing already has
    Given a folder of marketing's own with a rule file in it
    When marketing writes the hotel pack into that folder
    Then they are told the folder is not empty
    And their rule file is unchanged
