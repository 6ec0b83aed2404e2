import { Link } from 'react-router-dom';
import { useI18n } from '../i18n.jsx';

/** "You give «bike» → @bob" / "@alice gives «bike» to you": one sentence, agreed in person. */
export default function Leg({ giverId, receiverId, itemId, title, name, meId }) {
  const { t } = useI18n();
  return t('trades.leg', {
    giverIsYou: giverId === meId ? 'yes' : 'no',
    receiverIsYou: receiverId === meId ? 'yes' : 'no',
    giver: name(giverId),
    receiver: name(receiverId),
    title,
    item: (chunks) => (
      <Link key="item" to={`/items/${itemId}`}>
        {chunks}
      </Link>
    ),
  });
}
