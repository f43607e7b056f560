Feature: What each member is worth, now and to come
  The daily sweep works out every member's value. Their current value is what they brought
  over the last year; their potential value is what they are predicted to bring over the next
  year, from how often and how recently they bought and what they spend; their lifetime value
  is the two together. The top fifth by current value and the top fifth by potential value
  are "high", and each member lands in one of four value segments: keep (high now, high to
  come), grow (low now, high to come), maintain (high now, low to come) and reduce-cost (low
  and low). Rules, the member's record and the value reports use them.

  Background:
    Given the standard programme rules are in force
    And forty regular members who have bought for two years, from every week to twice a year

  Scenario: A member with a high predicted value but low spend lands in grow
    Given Nina joined a month ago and has bought something for 300.00 every four days since
    When the daily sweep values the members
    Then Nina is in the grow segment
    And Nina's predicted value is more than four times what she has spent
    And Nina's record shows her current value of 2400.00, her predicted value and her lifetime value, as of the sweep

  Scenario: A member who stopped buying long ago is expected to bring little
    Given Leo bought for 800.00 every forty days, then nothing for over a year
    When the daily sweep values the members
    Then Leo is in the reduce-cost segment
    And Leo's predicted value is less than a third of what he used to spend in a year

  Scenario: A member who never bought has no value yet
    Given Mia joined a month ago and has not bought anything
    When the daily sweep values the members
    Then Mia has no value and no segment

  Scenario: A rule rewards the members marketing wants to grow
    Given Nina joined a month ago and has bought something for 300.00 every four days since
    And a rule gives 100 points on every purchase by a member in the grow segment
    When the daily sweep values the members
    And Nina buys a kettle for 199.00
    Then Nina earns the 100 points for being in the grow segment
