Feature: The people who run the service can see what it does
  An operator sees, without opening the database, how many purchases and returns the
  service recorded and the points they gave and took back, how far the daily sweep has
  got, and how many messages to members are waiting. The log tells what happened and
  which request did it, and never who the members are. A mistake in the settings, or a
  command started where there is no database, is told in one plain line before
  anything happens.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend
    And the operator has looked at the service's figures

  Scenario: The operator can see how many purchases were recorded
    When Ann buys a refrigerator for 3999.00
    And the till sends Ann's purchase again
    Then the operator sees 1 more purchase recorded
    And the operator sees 3999 more points given

  Scenario: The operator can see the points returns took back
    Given Ann bought a refrigerator for 3999.00 and two filters at 49.50 each
    When Ann returns the refrigerator
    Then 3999 points are taken back
    And the operator sees 1 more return recorded
    And the operator sees 3999 more points taken back

  Scenario: The operator can see how many messages to members are waiting
    When Bo joins the programme, agreeing to text messages
    And Cy joins the programme, agreeing to text messages
    And Di joins the programme
    Then the operator sees 2 messages to members waiting

  Scenario: The operator can see how far the daily sweep has got
    Given Bo joins the programme
    When the daily sweep runs the next day
    Then the operator sees that 2 members went through every step of the sweep
    And the operator sees that the sweep of that day was completed

  Scenario: No log line carries a member's phone number, e-mail address, name or birth date
    Given the service writes everything it does to its log, down to each database statement
    When Cai joins with her phone number, e-mail address and birth date
    And Cai buys a refrigerator for 3999.00
    And someone tries to join with Cai's e-mail address again
    Then the log tells what the service did
    And no log line carries Cai's phone number, e-mail address, name or birth date

  Scenario: The log tells which request activated new rules
    Given the service writes everything it does to its log
    When an administrator activates the rules with a 50-point thank-you on every purchase
    Then the log says rules version 2 was activated, naming the request that did it

  Scenario: A mistake in the settings is told in one line and nothing starts
    When the operator starts the service with the database connections per worker set to "five"
    Then the operator is told in one line that the database connections per worker is not a whole number
    And the service has not started

  Scenario: A command started where there is no database does not create one
    When the operator lists the keys in a folder that has no database
    Then the operator is told there is no database in that folder
    And no database appears in that folder
