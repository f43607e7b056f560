Feature: Database outages
  The service's database can be away for a while: its disk not mounted yet, its
  server restarting or out of reach. The service itself stays up. While the
  database is away, a till is told to try again shortly and nothing is recorded;
  when the database returns, the service carries on by itself, with nobody
  restarting it, and a purchase sent again is recorded once.

  Background:
    Given Ann is a member
    And the service started while its database was away

  Scenario: When the database is away, a till is told to try again shortly and nothing is recorded
    When the till records a purchase of 120.00 for Ann
    Then the till is told to try again in a few seconds
    And the service says it is alive but not ready
    And nothing of that purchase is recorded

  Scenario: When the database returns, the service carries on by itself
    Given the till was told to try again shortly with a purchase of 120.00 for Ann
    When the database returns
    Then the service is ready again within a few seconds, without a restart
    And the purchase goes through when the till sends it again
    And the purchase is recorded once, with its 120 points for Ann
