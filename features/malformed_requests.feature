Feature: A message sent by mistake is refused whole, and nothing of it is recorded
  Whatever a till or a service desk sends by mistake (a garbled message, an
  impossible date, characters no system can keep, more than one purchase can
  hold, an option spelt wrong), it is told what to correct, every mistake at
  once, and the member's points and history do not move. The service never
  fails on such a message, so a till has no reason to send it again unchanged.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend

  Scenario: A till sends a purchase with several mistakes: it is told every mistake at once
    When the till sends Ann's purchase of 100.00 with a garbled date, paid with 90.00, in US dollars
    Then the till is told to correct the date, the payments and the currency, all at once
    And nothing is recorded for Ann

  Scenario: A misspelled option is refused rather than ignored
    When the till asks for a preview of Ann's purchase of 100.00 but misspells the option
    Then the till is told the option "dryrun" is not one it may use
    And nothing is recorded for Ann

  Scenario Outline: A message no till should send is refused, and the till can go on
    When the till sends a purchase of 100.00 for Ann <mistake>
    Then the till is told the message is not valid
    And nothing is recorded for Ann
    When the till then sends Ann's purchase of 100.00 correctly
    Then Ann has 100 points waiting and 100 points to spend

    Examples:
      | mistake                                          |
      | nested a hundred thousand levels deep            |
      | with a quantity of five thousand digits          |
      | with a null character hidden in its number       |
      | with half of an emoji in the name of the store   |
      | dated in the year 1, east of Greenwich           |
      | dated in the last second of the year 9999        |
      | with 501 lines                                   |
      | with 21 payments                                 |
      | cut off halfway                                  |

  Scenario: A message larger than the service accepts is refused as too large
    When the till sends a purchase of 100.00 for Ann ten megabytes long
    Then the till is told the message is too large
    And nothing is recorded for Ann

  Scenario: Asking for a page of history beyond any that can exist is refused
    When the service desk asks for Ann's history from a page marker of twenty digits
    Then the service desk is told the page marker is not valid
