Feature: Reminders before the days that matter to a member
  A member can tell us who matters to him (his wife, his children, his friends) and the
  days to remember: a birthday, a wedding anniversary, any occasion of his own. A week
  before each, once a year, the programme reminds him, with gift ideas from his own
  purchases: the kinds of products he buys most, and the level he usually spends compared
  with other members. When it is his wife's or partner's birthday he gets a personal call
  and an offer in his usual range.

  Background:
    Given the standard programme rules are in force

  Scenario: a member is reminded a week before his wife's birthday, with gift ideas in his usual range
    Given Wei bought a television, an oven and a hob this year, about 3000 each time
    And five other members each spent between 100 and 500 on one purchase
    And Wei's wife Mei has her birthday on 3 December
    When the daily sweep runs on 26 November
    Then Wei is reminded that Mei's birthday is in 7 days
    And the gift ideas for Wei are kitchen and tv, in the high range of what members spend
    And Wei gets a personal call about gift ideas
    And Wei holds the offer "GIFT-IDEAS-DOUBLE"
    And the call script for Wei reads "Call Wei: Mei (spouse) has a birthday on 2026-12-03, in 7 days. Gift ideas from what Wei buys most: kitchen, tv, around 2999.00 (high range). A gift offer in that range is in their account for 14 days."

  Scenario: a date recorded late in the window is still reminded once
    Given Wei is a member
    And the daily sweep ran on 28 November
    When Wei tells the till that his wife Mei has her birthday on 1 December
    And the daily sweep runs on 29 November
    And the daily sweep runs on 30 November
    Then Wei is reminded once, that Mei's birthday is in 2 days

  Scenario: a skipped sweep day catches up
    Given Wei's wife Mei has her birthday on 3 December
    And the daily sweep ran on 25 November
    When no daily sweep runs until 30 November
    Then Wei is reminded once, that Mei's birthday is in 3 days

  Scenario: removing the relative stops reminders
    Given Wei's wife Mei has her birthday on 3 December
    When Wei asks us to forget Mei
    And the daily sweep runs on 26 November
    Then Wei is not reminded of any day
    And Wei gets no personal call about gift ideas
