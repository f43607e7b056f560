Feature: Messages that reach members
  When the rules greet a member or tell them of a gift, the message is written at the same
  moment as what caused it, in the programme's own wording, and sent to the gateway the
  business connected for its channel: the SMS gateway for text messages. A member is only
  written to on the channels they agreed to. The gateway can check that each message comes
  from the programme. A gateway that is down gets the message once it is back; a message it
  never takes within a day is kept on a list an administrator can send again.

  Background:
    Given the standard programme rules are in force
    And the SMS gateway is connected for text messages

  Scenario: a birthday message reaches the SMS gateway
    Given Ann, born on 5 December, is a member who agreed to text messages
    When the daily sweep runs on 5 December
    And the messages are sent
    Then the SMS gateway receives "Happy birthday, Ann! Your birthday gift is waiting for you in store. You have 100 points to spend." for Ann
    And the SMS gateway can tell that every message came from the programme

  Scenario: A member who did not agree to text messages is not texted
    Given Bo, born on 5 December, is a member who did not agree to text messages
    When the daily sweep runs on 5 December
    And the messages are sent
    Then the SMS gateway receives nothing for Bo
    And Bo's birthday text is kept, marked as not sent for want of consent

  Scenario: A gateway that was down receives the message once it is back
    Given Ann, born on 5 December, is a member who agreed to text messages
    And the SMS gateway is down
    When Ann buys a refrigerator for 3999.00
    And the messages are sent
    And the SMS gateway is back an hour later
    And the messages are sent
    Then the SMS gateway receives Ann's gift message once

  Scenario: A message the gateway never took is kept for an administrator to send again
    Given Ann, born on 5 December, is a member who agreed to text messages
    And the SMS gateway is down
    When Ann buys a refrigerator for 3999.00
    And the messages are tried for more than a day
    Then Ann's gift message is among the messages that could not be sent
    When an administrator sends it again once the gateway is back
    Then the SMS gateway receives Ann's gift message once

  Scenario: The business's own systems learn at once who gets VIP privileges
    Given the scheduling system is connected for the programme's own events
    And Carol is a member marked as a VIP
    When the daily sweep runs on 21 November
    And the messages are sent
    Then the scheduling system hears that Carol became a VIP
    And the scheduling system hears that Carol was granted "priority-service"
    And the SMS gateway receives nothing for Carol
