Feature: Reports as pages marketing can open and share
  Every report marketing reads is also a page: a chart for each figure, a line in plain words
  saying what the chart shows, and the figures themselves in a table beside it, money in the
  programme's currency and each tier, stage, segment and offer with what it means. A page is
  one file that opens anywhere, even without the internet, so it can be mailed or archived.

  Background:
    Given the standard programme rules are in force

  Scenario: Marketing opens the pyramid page and sees the top fifth's share of revenue
    Given ten members who joined over a year ago
    And Ann bought furniture for 60000.00 and returned chairs worth 8000.00
    And Bob bought a refrigerator for 25000.00
    And Cai bought a desk for 6000.00
    And each of the seven other members bought a lamp for 1000.00
    When marketing opens the value pyramid page
    Then the page says the top fifth of the members, 2 of 10, brought 85.6% of the revenue of the last 365 days: 77,000.00 CNY of 90,000.00 CNY
    And the page charts the revenue by tier, with platinum, "50,000 CNY in 12 months: points x2", bringing 52,000.00 CNY in the table beside it
    And the page charts the revenue by value band, with the top 1% bringing 52,000.00 CNY
    And the page opens without the internet

  Scenario: Marketing saves the lifecycle page to a file to share
    Given Bob joined over a year ago and last bought on 10 June
    And Cai joined over a year ago and last bought on 1 March
    When the daily sweep runs on the first day of each month from August to November
    And marketing saves the lifecycle page as it stood on 1 November to a file
    Then the file says 2 of 2 members are drifting away
    And the file lists the lapsed stage as "no purchase for 120 days", with 2 members
    And the file charts the moves between stages in November, 1 member from declining to lapsed
    And the file opens without the internet

  Scenario: Only marketing opens the report pages
    When a till asks for the value pyramid page
    Then the till is refused
