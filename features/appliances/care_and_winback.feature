Feature: Welcome, birthdays and winning owners back
  A new owner gets welcome points. On their birthday owners get points, and gold and
  platinum owners a descaling kit as well. Appliances last years, so an owner who has not
  bought for six months is offered a free check-up, and one who has not bought for a year
  bonus points on the next purchase; a lapsed owner who comes back is welcomed back.

  Scenario: Joining the club brings 200 welcome points
    When Ann joins the club
    Then Ann starts with 200 points

  Scenario: A customer's birthday brings 300 points
    Given Ann is a customer born on 20 May 1988
    When the daily sweep runs on 20 May
    Then Ann's statement shows 300 points for "300 birthday points for members and silver owners"

  Scenario: A gold owner's birthday brings a descaling kit and 800 points
    Given Ann is a gold customer born on 20 May 1975
    When the daily sweep runs on 20 May
    Then Ann receives "DESCALING-KIT"
    And Ann's statement shows 800 points for "A descaling kit and 800 birthday points for gold and platinum owners"

  Scenario: Six months without a purchase bring a free home check-up
    Given Ann has been a customer for 3 years
    And Ann bought a washing machine 170 days ago
    When 11 days pass without a purchase
    Then Ann counts as declining
    And Ann receives "FREE-CHECKUP"

  Scenario: A year without a purchase brings 1,000 bonus points on the next one
    Given Ann has been a customer for 3 years
    And Ann bought a washing machine 360 days ago
    When 6 days pass without a purchase
    Then Ann counts as lapsed
    And Ann is offered "WINBACK-1000"

  Scenario: A lapsed owner who comes back with the offer is welcomed back
    Given Ann has been a customer for 3 years
    And Ann bought a washing machine 360 days ago
    And 6 days have passed
    When Ann buys a 1.7 l kettle showing the offer "WINBACK-1000"
    Then Ann earns 1,499 points
    And the receipt says "offer WINBACK-1000 used: 1,000 bonus points on your next purchase"
    And the receipt says "Welcome back - 300 points when a lapsed or churned owner buys again"
    And Ann's statement shows 300 points for "Welcome back - 300 points when a lapsed or churned owner buys again"
    And Ann counts as growing
