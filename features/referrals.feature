Feature: Members who bring friends
  A member who brings a friend is rewarded when the friend first buys enough
  (the programme says how much, and how soon after joining). The reward is paid
  once for that friend, however often the friend buys, returns and buys again.
  Nobody is rewarded for bringing themselves under another membership.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend

  Scenario: a friend's first purchase rewards the referrer once
    Given Bo joined on Ann's recommendation
    When Bo buys a kettle for 60.00
    Then Ann has not been rewarded for bringing Bo
    When Bo buys a kettle for 150.00
    Then Ann is rewarded 500 points for bringing Bo
    And Bo's receipt shows only Bo's own points
    When Bo returns the kettle and buys it again
    And Bo buys a refrigerator for 3999.00
    Then Ann has been rewarded for bringing Bo only once

  Scenario: a friend who buys too late rewards nobody
    Given Bo joined on Ann's recommendation
    When 91 days pass
    And Bo buys a kettle for 150.00
    Then Ann has not been rewarded for bringing Bo

  Scenario: a self-referral pays nothing
    When Ann tries to join again as Annie, writing her e-mail "Ann+again@Example.com", on her own recommendation
    Then the till is told a member cannot refer themselves
    And Annie is not a member
    And Ann has 100 points to spend
