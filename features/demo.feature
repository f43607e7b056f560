Feature: A demo programme brings a pack to life
  Before launching a programme, marketing wants to see it running: a year of members
  joining, buying, returning things, complaining, drifting away and coming back, built from
  a ready-made pack and recorded exactly as the tills and the nightly sweep would have
  recorded it. The reports then show what the programme does to the pyramid.

  Scenario: A demo programme for a hotel shows a visible top of the pyramid, lapsed guests and win-back offers
    Given a new programme that nobody has joined yet
    When a demo of the "Hotel club" is built with 30 members
    Then the top of the pyramid is visible: there are VIP members, and the best fifth of the members bring most of the spend
    And some members have lapsed
    And win-back offers were sent and some of them were used

  Scenario: A demo is never mixed into a programme that already has members
    Given a programme that one member has already joined
    When a demo of the "Home appliance retailer" is built with 40 members
    Then the demo is refused because the programme already has members
    And the programme still has exactly one member
